; name: add
; description: add two numbers
; description: what is a plus b?
; description: compute the sum of a and b
; description: add a and b together
; description: a + b
; description: find the total of the two numbers
; range: a=-1000..1000 b=-1000..1000
; test: a=2 b=3 -> sum=5
; test: a=-5 b=5 -> sum=0
; test: a=-1000 b=-1000 -> sum=-2000
;
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
