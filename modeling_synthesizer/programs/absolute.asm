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
