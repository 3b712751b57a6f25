run tests/regress/rewrite-same-bytes.trace --device pmem-wb
