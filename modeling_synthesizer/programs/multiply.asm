; name: multiply
; description: multiply two numbers
; description: what is a times b?
; description: compute the product of a and b
; description: multiply a by b
; description: a * b
; description: add a to itself b times
; range: a=0..100 b=0..40
; test: a=6 b=7 -> product=42
; test: a=0 b=7 -> product=0
; test: a=12345 b=3 -> product=37035
;
; product = a * b for a, b >= 0, by adding a to a running negative product b times.

.data
a:       .word 0
b:       .word 0
product: .word 0
neg:     .word 0        ; -(a added so far)
count:   .word 1        ; 1 - b, counted up: the loop runs while it is <= 0
.input a, b
.output product

.code
        subleq b, count, loop       ; count = 1 - b; b >= 1: go to the loop
        HALT                        ; b = 0: the product stays 0
loop:   SUB a, neg                  ; neg -= a
        subleq #-1, count, loop     ; count += 1; again while count <= 0
        SUB neg, product            ; product = -neg
