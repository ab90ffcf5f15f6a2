import Testing
import KilnGraph
import KilnInterpreter
import KilnTestSupport

/// `[1, 3, 3, 1]` holding 1 to 9 row by row.
let image3 = f32([1, 3, 3, 1], (1...9).map(Float.init))

let windowCases: [ForwardCase] = [
    ForwardCase("patches", "2×2 windows over a 3×3 image", expected: f32([1, 2, 2, 4], [1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9])) {
        try patches($0.constant(image3), window: PatchWindow(size: [2, 2]))
    },
    ForwardCase("patches", "stride 2, same padding after the image, pad value -1",
                expected: f32([1, 2, 2, 4], [1, 2, 4, 5, 3, -1, 6, -1, 7, 8, -1, -1, 9, -1, -1, -1])) {
        try patches($0.constant(image3), window: PatchWindow(size: [2, 2], stride: [2, 2], padding: .same, imageSize: [3, 3]),
                    padValue: -1)
    },
    ForwardCase("patches", "padding before the image", expected: f32([1, 2, 2, 4], [0, 0, 0, 1, 0, 0, 1, 2, 0, 1, 0, 3, 1, 2, 3, 4])) {
        try patches($0.constant(f32([1, 2, 2, 1], [1, 2, 3, 4])), window: PatchWindow(size: [2, 2], padLow: [1, 1]))
    },
    ForwardCase("patches", "two channels, dilation 2", expected: f32([1, 1, 1, 8], [1, 10, 3, 30, 7, 70, 9, 90])) {
        let values = (1...9).flatMap { [Float($0), Float(10 * $0)] }
        return try patches($0.constant(f32([1, 3, 3, 2], values)), window: PatchWindow(size: [2, 2], dilation: [2, 2]))
    },
    ForwardCase("patches", "each image of a batch alone", expected: f32([2, 1, 1, 4], (1...8).map(Float.init))) {
        try patches($0.constant(f32([2, 2, 2, 1], (1...8).map(Float.init))), window: PatchWindow(size: [2, 2]))
    },
    ForwardCase("patches", "1×3 windows, stride 1×2", expected: f32([1, 3, 1, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9])) {
        try patches($0.constant(image3), window: PatchWindow(size: [1, 3], stride: [1, 2]))
    },
    ForwardCase("fold_patches", "overlapping windows add up", expected: f32([1, 3, 3, 1], [1, 2, 1, 2, 4, 2, 1, 2, 1])) {
        try foldPatches($0.constant(Tensor(shape: [1, 2, 2, 4], repeating: Float(1))), window: PatchWindow(size: [2, 2]),
                        imageSize: [3, 3])
    },
    ForwardCase("fold_patches", "stride 2, same padding: the padding's cells are dropped",
                expected: f32([1, 3, 3, 1], [1, 2, 5, 3, 4, 7, 9, 10, 13])) {
        try foldPatches($0.constant(f32([1, 2, 2, 4], (1...16).map(Float.init))),
                        window: PatchWindow(size: [2, 2], stride: [2, 2], padding: .same, imageSize: [3, 3]), imageSize: [3, 3])
    },
    ForwardCase("fold_patches", "two channels, dilation 2", expected: f32([1, 3, 3, 2], [1, 10, 0, 0, 3, 30, 0, 0, 0, 0, 0, 0, 7, 70, 0, 0, 9, 90])) {
        try foldPatches($0.constant(f32([1, 1, 1, 8], [1, 10, 3, 30, 7, 70, 9, 90])), window: PatchWindow(size: [2, 2], dilation: [2, 2]),
                        imageSize: [3, 3])
    },
]

/// Convolution and pooling built from the window ops, worked out by hand.
let convolutionCases: [ForwardCase] = [
    ForwardCase("conv2d", "2×2 filter picking a cell and its lower-right neighbour", expected: f32([1, 2, 2, 1], [6, 8, 12, 14])) {
        try conv2d($0.constant(image3), $0.constant(f32([2, 2, 1, 1], [1, 0, 0, 1])))
    },
    ForwardCase("conv2d", "same padding, two output channels",
                expected: f32([1, 3, 3, 2], [12, 1, 16, 2, 9, 3, 24, 4, 28, 5, 15, 6, 15, 7, 17, 8, 9, 9])) {
        // Channel 0 sums the 2×2 window (padding after the image); channel 1 copies the cell.
        try conv2d($0.constant(image3), $0.constant(f32([2, 2, 1, 2], [1, 1, 1, 0, 1, 0, 1, 0])), padding: .same)
    },
    ForwardCase("max_pool2d", "2×2, stride 2, same: the padding never wins", expected: f32([1, 2, 2, 1], [5, 6, 8, 9])) {
        try maxPool2d($0.constant(image3) - 20, size: [2, 2], stride: [2, 2], padding: .same) + 20
    },
    ForwardCase("avg_pool2d", "2×2, stride 2, same: edge windows average their cells inside",
                expected: f32([1, 2, 2, 1], [3, 4.5, 7.5, 9])) {
        try avgPool2d($0.constant(image3), size: [2, 2], stride: [2, 2], padding: .same)
    },
    ForwardCase("avg_pool2d", "2×2, stride 1, valid", expected: f32([1, 2, 2, 1], [3, 4, 6, 7])) {
        try avgPool2d($0.constant(image3), size: [2, 2], stride: [1, 1])
    },
]

@Suite("Forward: windows, convolution and pooling")
struct ForwardWindowTests {
    @Test(arguments: windowCases + convolutionCases)
    func evaluates(_ c: ForwardCase) throws {
        expectClose(try evaluate(c.feeds, c.build), c.expected, rtol: c.rtol, c.testDescription)
    }

    @Test func printsItsWindow() throws {
        let g = Graph()
        let x = try g.placeholder("x", shape: [.batch, 5, 5, 3])
        let p = try patches(x, window: PatchWindow(size: [3, 3], stride: [2, 2], padding: .same, imageSize: [5, 5]), padValue: -1)
        #expect(p.description.hasSuffix("patches %0 {size=[3,3], stride=[2,2], pad_low=[1,1], pad_high=[1,1], pad_value=-1.0} : f32[?,3,3,27]"),
                "\(p)")
        let f = try foldPatches(p, window: PatchWindow(size: [3, 3], stride: [2, 2], padding: .same, imageSize: [5, 5]), imageSize: [5, 5])
        #expect(f.description.hasSuffix("{size=[3,3], stride=[2,2], pad_low=[1,1], pad_high=[1,1], image_size=[5,5]} : f32[?,5,5,3]"), "\(f)")
    }

    @Test func windowsThatDoNotFitAreErrors() throws {
        let g = Graph()
        let x = try g.placeholder("x", shape: [.batch, 2, 2, 1])
        expectError("3×3", "2×2 image") { try patches(x, window: PatchWindow(size: [3, 3])) }
        expectError("conv2d", "does not fit") { try conv2d(x, g.constant(Tensor(shape: [3, 3, 1, 4], repeating: Float(0)))) }
        expectError("max_pool2d", "does not fit") { try maxPool2d(x, size: [3, 1], stride: [1, 1]) }
        expectError("stride", "[0, 1]") { try patches(x, window: PatchWindow(size: [1, 1], stride: [0, 1])) }
        expectError("size", "[2]") { try patches(x, window: PatchWindow(size: [2])) }
        expectError("padding 2+0", "less than", "span of 2") { try patches(x, window: PatchWindow(size: [2, 2], padLow: [2, 0])) }
        expectError("4 channels", "have 1") { try conv2d(x, g.constant(Tensor(shape: [1, 1, 4, 2], repeating: Float(0)))) }
        expectError("images", "[?,2,2]") { try conv2d(try g.placeholder("flat", shape: [.batch, 2, 2]), x) }
        expectError("filter", "[kh, kw, in, out]") { try conv2d(x, g.constant(Tensor(shape: [1, 1], repeating: Float(0)))) }
        expectError("image size", "[0, 2]") { try foldPatches(x, window: PatchWindow(size: [1, 1]), imageSize: [0, 2]) }
        expectError("3×3 image has 3×3 windows", "not 2×2") { try foldPatches(x, window: PatchWindow(size: [1, 1]), imageSize: [3, 3]) }
        expectError("not a multiple", "4 cells") { try foldPatches(x, window: PatchWindow(size: [2, 2]), imageSize: [3, 3]) }
        expectError("f32") { try patches(try g.placeholder("i", shape: [.batch, 2, 2, 1], dtype: .int32), window: PatchWindow(size: [1, 1])) }
    }
}

/// Pooling whose windows tile the image takes the reshaped image instead of copying windows
/// out; both ways give the same values.
@Suite("Pooling over windows that tile the image")
struct TiledPoolingTests {
    @Test(arguments: [(5, 4, Padding.valid), (6, 4, Padding.same), (4, 6, Padding.valid)])
    func matchesTheWindowsPath(size: (h: Int, w: Int, padding: Padding)) throws {
        var generator = SeededGenerator(seed: UInt64(size.h * 10 + size.w))
        let x = try Tensor.randomUniform(shape: [2, size.h, size.w, 3], lower: -1, upper: 1, using: &generator)
        for isMax in [true, false] {
            let tiled = try evaluate([:]) { g in
                isMax ? try maxPool2d(g.constant(x), size: [2, 2], stride: [2, 2], padding: size.padding)
                    : try avgPool2d(g.constant(x), size: [2, 2], stride: [2, 2], padding: size.padding)
            }
            let windows = try evaluate([:]) { g in
                let window = PatchWindow(size: [2, 2], stride: [2, 2], padding: size.padding, imageSize: [size.h, size.w])
                let cells = try patches(g.constant(x), window: window, padValue: isMax ? -.infinity : 0)
                let shaped = try reshape(cells, to: Shape([2, cells.shape[1], cells.shape[2], 4, 3]))
                return isMax ? try max(shaped, axes: [3]) : try mean(shaped, axes: [3])
            }
            expectClose(tiled, windows, rtol: 1e-6, "\(size)")
        }
    }
}
