; name: minimum
; description: the smaller of two numbers
; description: which of a and b is lower?
; description: pick the minimum of a and b
; description: return the lesser of the pair
; test: a=3 b=8 -> low=3
; test: a=8 b=3 -> low=3
; test: a=-5 b=-5 -> low=-5
;
; low = a when a - b <= 0, else b.

.data
a:   .word 0
b:   .word 0
low: .word 0
na:  .word 0
d:   .word 0
nb:  .word 0
.input a, b
.output low

.code
        SUB a, na                   ; na = -a
        SUB na, d                   ; d = a
        subleq b, d, take_a         ; d = a - b; a <= b: take a
        SUB b, nb                   ; nb = -b
        subleq nb, low, halt        ; low = b
take_a:
        subleq na, low, halt        ; low = a
