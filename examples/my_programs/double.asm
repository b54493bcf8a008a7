; name: double
; description: double the number
; description: what is twice x?
; description: multiply x by two
; description: add x to itself
; test: x=21 -> twice=42
; test: x=-4 -> twice=-8
; test: x=0 -> twice=0

.data
x:     .word 0
twice: .word 0
neg:   .word 0
.input x
.output twice

.code
        SUB x, neg          ; neg = -x
        SUB neg, twice      ; twice = x
        SUB neg, twice      ; twice = 2x
