; name: maximum
; description: find the maximum of the list
; description: what is the largest number?
; description: return the biggest value in the list
; description: which number is the greatest?
; description: compute the max of these six numbers
; description: pick the highest value
; range: xs=-100..100
; test: xs=[3, -1, 4, 1, -5, 9] -> max=9
; test: xs=[-1, -2, -3, -4, -5, -6] -> max=-1
; test: xs=[5, 5, 5, 5, 5, 5] -> max=5
;
; max = the largest of 6 numbers. Keeps neg = -(largest so far); for each next number x,
; t = max - x tells whether x takes over (ties may take over too: same value).
; Unrolled: subleq has no indirect addressing.

.data
xs:  .word 0 0 0 0 0 0
max: .word 0
neg: .word 0            ; -(largest so far)
t:   .zero 5            ; t+i-1: the comparison for xs+i
.input xs
.output max

.code
        SUB xs+0, neg               ; neg = -xs[0]

        SUB xs+1, t+0               ; t = -xs[1]
        subleq neg, t+0, take1      ; t = max - xs[1]; <= 0: xs[1] is the new largest
        JMP skip1
take1:  CLR neg
        SUB xs+1, neg               ; neg = -xs[1]
skip1:
        SUB xs+2, t+1
        subleq neg, t+1, take2
        JMP skip2
take2:  CLR neg
        SUB xs+2, neg
skip2:
        SUB xs+3, t+2
        subleq neg, t+2, take3
        JMP skip3
take3:  CLR neg
        SUB xs+3, neg
skip3:
        SUB xs+4, t+3
        subleq neg, t+3, take4
        JMP skip4
take4:  CLR neg
        SUB xs+4, neg
skip4:
        SUB xs+5, t+4
        subleq neg, t+4, take5
        JMP skip5
take5:  CLR neg
        SUB xs+5, neg
skip5:
        SUB neg, max                ; max = -neg
