import Testing
import KilnGraph

@Suite("Printer")
struct PrinterTests {
    @Test func printsEveryAttributeKind() throws {
        let g = Graph()
        let x = try g.placeholder("x", shape: [.batch, 4])
        let w = try g.variable("dense/kernel", initialValue: .zeros(shape: [4, 3]))
        let h = try matmul(x, w, transposeB: false)
        let t = try matmul(h, h, transposeA: true)
        _ = try sum(h, axes: [1], keepDims: true)
        _ = try max(h, axes: [0])
        _ = try argmax(h, axis: 1)
        _ = try transpose(t)
        _ = try slice(h, starts: [0, 1], sizes: [-1, 2])
        _ = try pad(t, low: [1, 0], high: [0, 2])
        _ = try concatenate([t, t], axis: 1)
        let ids = try g.placeholder("ids", shape: [.batch], dtype: .int32)
        _ = try gather(t, indices: ids, axis: 0)
        _ = try oneHot(ids, depth: 3)
        _ = try logSoftmax(h)
        _ = try notEqual(h, g.constant(0))
        _ = g.constant(Tensor(Array(stride(from: Float(0), to: 10, by: 1))))
        _ = try g.elementCount([.batch, 4])
        _ = try g.assign(w, stopGradient(w))
        #expect(g.description == """
            %0 = placeholder "x" : f32[?,4]
            %1 = variable "dense/kernel" : f32[4,3]
            %2 = matmul %0, %1 : f32[?,3]
            %3 = matmul %2, %2 {transpose_a=true} : f32[3,3]
            %4 = sum %2 {axes=[1], keep_dims=true} : f32[?,1]
            %5 = max %2 {axes=[0]} : f32[3]
            %6 = argmax %2 {axis=1} : i32[?]
            %7 = transpose %3 {permutation=[1,0]} : f32[3,3]
            %8 = slice %2 {starts=[0,1]} : f32[?,2]
            %9 = pad %3 {low=[1,0], high=[0,2]} : f32[4,5]
            %10 = concatenate %3, %3 {axis=1} : f32[3,6]
            %11 = placeholder "ids" : i32[?]
            %12 = gather %3, %11 {axis=0} : f32[?,3]
            %13 = one_hot %11 {depth=3} : f32[?,3]
            %14 = log_softmax %2 {axis=1} : f32[?,3]
            %15 = constant 0.0 : f32[]
            %16 = not_equal %2, %15 : bool[?,3]
            %17 = constant [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, ... 10 values] : f32[10]
            %18 = element_count [?,4] : f32[]
            %19 = stop_gradient %1 : f32[4,3]
            %20 = assign %1, %19 : f32[4,3]
            """)
        #expect(g.node(NodeID(2))?.description == "%2 = matmul %0, %1 : f32[?,3]")
        #expect(g.node(NodeID(99)) == nil)
    }

    @Test func printsGradientGraphs() throws {
        let g = Graph()
        let x = try g.placeholder("x", shape: [.batch, 2])
        let w = try g.variable("w", initialValue: .zeros(shape: [2, 1]))
        let loss = try mean(square(matmul(x, w)))
        _ = try g.gradients(of: loss, wrt: [w])
        #expect(g.description == """
            %0 = placeholder "x" : f32[?,2]
            %1 = variable "w" : f32[2,1]
            %2 = matmul %0, %1 : f32[?,1]
            %3 = square %2 : f32[?,1]
            %4 = mean %3 {axes=[0,1]} : f32[]
            %5 = constant 1.0 : f32[]
            %6 = reshape %5 : f32[1,1]
            %7 = element_count [?,1] : f32[]
            %8 = div %6, %7 : f32[1,1]
            %9 = broadcast %8 : f32[?,1]
            %10 = mul %9, %2 : f32[?,1]
            %11 = constant 2.0 : f32[]
            %12 = mul %10, %11 : f32[?,1]
            %13 = matmul %0, %12 {transpose_a=true} : f32[2,1]
            """)
    }
}
