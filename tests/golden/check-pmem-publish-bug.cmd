check traces/examples/pmem-publish-bug.trace --set pmem.size=64K --checker tests/checkers/pmem-publish.sh
