; name: reverse
; description: reverse the list
; description: write the sequence backwards
; description: what is the list in reverse order?
; description: flip the order of the numbers
; description: reverse these eight numbers
; description: put the last element first and the first last
; range: xs=-100..100
; test: xs=[0, 1, 2, 3, 4, 5, 6, 7] -> out=[7, 6, 5, 4, 3, 2, 1, 0]
; test: xs=[5, -3, 0, 0, 2, 2, -100, 100] -> out=[100, -100, 2, 2, 0, 0, -3, 5]
;
; out = xs reversed, for a list of 8 numbers: out[i] = xs[7 - i], each copied through
; its own negative cell (unrolled: subleq has no indirect addressing).

.data
xs:  .word 0 0 0 0 0 0 0 0
out: .zero 8
neg: .zero 8            ; neg+i = -xs[7 - i]
.input xs
.output out

.code
        SUB xs+7, neg+0     ; neg[0] = -xs[7]
        SUB neg+0, out+0    ; out[0] = xs[7]
        SUB xs+6, neg+1
        SUB neg+1, out+1
        SUB xs+5, neg+2
        SUB neg+2, out+2
        SUB xs+4, neg+3
        SUB neg+3, out+3
        SUB xs+3, neg+4
        SUB neg+4, out+4
        SUB xs+2, neg+5
        SUB neg+5, out+5
        SUB xs+1, neg+6
        SUB neg+6, out+6
        SUB xs+0, neg+7
        SUB neg+7, out+7
