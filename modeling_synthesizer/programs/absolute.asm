; name: absolute
; description: take the absolute value
; description: what is |x|?
; description: drop the sign of the number
; description: how far is x from zero?
; description: compute the magnitude of x
; description: make the number non-negative
; range: x=-1000..1000
; test: x=-7 -> result=7
; test: x=0 -> result=0
; test: x=42 -> result=42
;
; result = |x|. The first instruction both computes -x and branches on its sign.

.data
x:      .word 0
result: .word 0
neg:    .word 0
.input x
.output result

.code
        subleq x, neg, positive     ; neg = -x; x >= 0: go to positive
        subleq x, result, halt      ; x < 0: result = -x
positive:
        subleq neg, result, halt    ; result = x
