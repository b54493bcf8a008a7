; name: negate
; description: negate the number
; description: flip the sign of x
; description: what is minus x?
; description: change the sign of the number
; test: x=5 -> result=-5
; test: x=-12 -> result=12
; test: x=0 -> result=0

.data
x:      .word 0
result: .word 0
.input x
.output result

.code
        SUB x, result       ; result = -x
