check tests/regress/barrier-promises.trace --block-semantics barrier --fault ignore-flush --at 9 --state base
