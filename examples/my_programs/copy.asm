; name: copy
; description: copy the number
; description: give x back unchanged
; description: return the same value
; description: repeat x
; test: x=9 -> out=9
; test: x=-3 -> out=-3

.data
x:   .word 0
out: .word 0
neg: .word 0
.input x
.output out

.code
        SUB x, neg          ; neg = -x
        SUB neg, out        ; out = x
