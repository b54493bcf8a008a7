; name: count_ones
; description: count the ones
; description: How many 1s are in the sequence?
; description: count the number of ones in this binary sequence
; description: how many bits are set?
; description: tally the 1s in the bits
; description: count how many ones there are
; range: bits=0..1
; test: bits=[1, 1, 1, 0, 1, 0, 1, 1] -> count=6
; test: bits=[0, 0, 0, 0, 0, 0, 0, 0] -> count=0
; test: bits=[1, 1, 1, 1, 1, 1, 1, 1] -> count=8
;
; count = how many 1s there are in an 8-bit binary sequence ("11101011" has 6).
; The paper's thought experiment. Each bit is subtracted from a running negative count,
; which is negated into the output at the end; the loop over the bits is unrolled,
; since subleq has no indirect addressing.

.data
bits:  .word 0 0 0 0 0 0 0 0
count: .word 0
neg:   .word 0          ; -(ones so far)
.input bits
.output count

.code
        SUB bits+0, neg     ; neg -= bits[0]
        SUB bits+1, neg
        SUB bits+2, neg
        SUB bits+3, neg
        SUB bits+4, neg
        SUB bits+5, neg
        SUB bits+6, neg
        SUB bits+7, neg
        SUB neg, count      ; count = -neg
