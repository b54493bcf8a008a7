; sum = a + b, through the negative -a - b.

.data
a:   .word 0
b:   .word 0
sum: .word 0
neg: .word 0
.input a, b
.output sum

.code
        SUB a, neg          ; neg = -a
        SUB b, neg          ; neg = -a - b
        SUB neg, sum        ; sum = a + b
