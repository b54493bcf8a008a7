; total = the sum of a list of 8 numbers, through a running negative sum (unrolled).

.data
xs:    .word 0 0 0 0 0 0 0 0
total: .word 0
neg:   .word 0          ; -(sum so far)
.input xs
.output total

.code
        SUB xs+0, neg       ; neg -= xs[0]
        SUB xs+1, neg
        SUB xs+2, neg
        SUB xs+3, neg
        SUB xs+4, neg
        SUB xs+5, neg
        SUB xs+6, neg
        SUB xs+7, neg
        SUB neg, total      ; total = -neg
