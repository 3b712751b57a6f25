run tests/regress/rewrite-same-bytes.trace --device disk-wc
