check tests/regress/barrier-promises.trace --block-semantics barrier --fault ignore-fua
