; name: sum
; description: sum the list
; description: what do the numbers add up to?
; description: compute the total of the list
; description: add up all the numbers
; description: find the sum of these eight numbers
; description: what is the total?
; range: xs=-100..100
; test: xs=[1, 2, 3, 4, 5, 6, 7, 8] -> total=36
; test: xs=[-1, 1, -1, 1, -1, 1, -1, 1] -> total=0
;
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
