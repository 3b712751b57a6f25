import jlang ../shared/corpus/crashmonkey-seq1/j-lang100 -o -
