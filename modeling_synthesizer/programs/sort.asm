; name: sort
; description: sort the list
; description: put the four numbers in ascending order
; description: arrange the values from smallest to largest
; description: sort these numbers
; description: order the list, lowest first
; description: what is the list in increasing order?
; range: xs=-100..100
; test: xs=[3, 1, 2, 0] -> xs=[0, 1, 2, 3]
; test: xs=[4, 3, 2, 1] -> xs=[1, 2, 3, 4]
; test: xs=[-1, 5, -1, 5] -> xs=[-1, -1, 5, 5]
;
; Sort 4 numbers in place, ascending, with the 5 compare-exchanges of the optimal
; sorting network (0,1) (2,3) (0,2) (1,3) (1,2). Compare-exchange (a, b):
;   w = -b; v = -a; w = a - b; if a <= b they are in order, else a -= w (a = b) and b = -v (b = a).
; Each compare-exchange has its own two scratch cells, so none needs clearing.

.data
xs: .word 0 0 0 0
v:  .zero 5             ; v+i = -a of compare-exchange i
w:  .zero 5             ; w+i = a - b of compare-exchange i
.input xs
.output xs

.code
        SUB xs+1, w+0           ; (0, 1)
        SUB xs+0, v+0
        subleq v+0, w+0, ce1    ; w = xs[0] - xs[1]; <= 0: in order
        SUB w+0, xs+0           ; xs[0] = old xs[1]
        CLR xs+1
        SUB v+0, xs+1           ; xs[1] = old xs[0]
ce1:    SUB xs+3, w+1           ; (2, 3)
        SUB xs+2, v+1
        subleq v+1, w+1, ce2
        SUB w+1, xs+2
        CLR xs+3
        SUB v+1, xs+3
ce2:    SUB xs+2, w+2           ; (0, 2)
        SUB xs+0, v+2
        subleq v+2, w+2, ce3
        SUB w+2, xs+0
        CLR xs+2
        SUB v+2, xs+2
ce3:    SUB xs+3, w+3           ; (1, 3)
        SUB xs+1, v+3
        subleq v+3, w+3, ce4
        SUB w+3, xs+1
        CLR xs+3
        SUB v+3, xs+3
ce4:    SUB xs+2, w+4           ; (1, 2)
        SUB xs+1, v+4
        subleq v+4, w+4, done
        SUB w+4, xs+1
        CLR xs+2
        SUB v+4, xs+2
done:
