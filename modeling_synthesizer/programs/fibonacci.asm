; name: fibonacci
; description: compute the n-th Fibonacci number
; description: what is fibonacci of n?
; description: find F(n)
; description: give the nth number of the Fibonacci sequence
; description: fib(n)
; description: the Fibonacci number at position n
; range: n=0..40
; test: n=0 -> fib=0
; test: n=1 -> fib=1
; test: n=10 -> fib=55
;
; fib = F(n), the n-th Fibonacci number (F(0) = 0, F(1) = 1), for n >= 0.
; The pair (F(k), F(k+1)) lives in fib and q with alternating signs, so that each step is
; one subleq: after an odd k, fib = F(k+1) and q = -F(k); after an even k, fib = F(k) and
; q = -F(k+1). count = 1 - n + k, and the loop goes on while count <= 0 (k < n).

.data
n:     .word 0
fib:   .word 0          ; F(0)
q:     .word -1         ; -F(1)
count: .word 1
.input n
.output fib

.code
        subleq n, count, loop       ; count = 1 - n; n >= 1: go to the loop
        HALT                        ; n = 0: fib = F(0) = 0
loop:   subleq q, fib               ; fib = F(k) + F(k+1); k is now odd
        subleq #-1, count, more     ; count += 1; more steps while count <= 0
        CLR fib
        subleq q, fib, halt         ; done at an odd k: fib = -q = F(k)
more:   subleq fib, q               ; q = -F(k) - F(k+1); k is now even
        subleq #-1, count, loop     ; done at an even k: fall off the end, fib = F(k)
