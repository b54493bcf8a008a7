; name: count_ones_32
; description: count the ones in 32 bits
; description: how many 1s are in the 32-bit sequence?
; description: count the set bits of a 32-bit word
; description: what is the population count of the 32 bits?
; description: tally the 1s among thirty-two bits
; description: how many of the 32 bits are ones?
; range: bits=0..1
; test: bits=[1,1,1,0,1,0,1,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0] -> count=6
; test: bits=[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1] -> count=32
;
; count = how many 1s there are in a 32-bit binary sequence: count_ones unrolled over 32 bits.
; A shorter sequence is zero-padded to 32 bits, which leaves the count unchanged: this is the
; program that runs inputs longer than the 8 bits of count_ones (the length-generalization comparison
; of examples/run_program_library.py).

.data
bits:  .zero 32
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
        SUB bits+8, neg
        SUB bits+9, neg
        SUB bits+10, neg
        SUB bits+11, neg
        SUB bits+12, neg
        SUB bits+13, neg
        SUB bits+14, neg
        SUB bits+15, neg
        SUB bits+16, neg
        SUB bits+17, neg
        SUB bits+18, neg
        SUB bits+19, neg
        SUB bits+20, neg
        SUB bits+21, neg
        SUB bits+22, neg
        SUB bits+23, neg
        SUB bits+24, neg
        SUB bits+25, neg
        SUB bits+26, neg
        SUB bits+27, neg
        SUB bits+28, neg
        SUB bits+29, neg
        SUB bits+30, neg
        SUB bits+31, neg
        SUB neg, count      ; count = -neg
