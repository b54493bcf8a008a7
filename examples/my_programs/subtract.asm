; name: subtract
; description: subtract b from a
; description: what is a minus b?
; description: compute the difference of a and b
; description: take b away from a
; test: a=7 b=3 -> diff=4
; test: a=-2 b=5 -> diff=-7
; test: a=0 b=0 -> diff=0
;
; diff = a - b: copy a through its negative, then take b away.

.data
a:    .word 0
b:    .word 0
diff: .word 0
neg:  .word 0
.input a, b
.output diff

.code
        SUB a, neg          ; neg = -a
        SUB neg, diff       ; diff = a
        SUB b, diff         ; diff = a - b
