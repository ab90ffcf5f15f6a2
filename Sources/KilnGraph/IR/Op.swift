/// An elementwise function of one operand.
public enum UnaryOp: String, Hashable, Sendable, CaseIterable {
    case neg, abs, sign, exp, log, sqrt, rsqrt, square, tanh, sigmoid, relu, softplus, floor, erf

    /// Whether the op also accepts `int32` operands (the others need `float32`).
    public var acceptsInt32: Bool { self == .neg || self == .abs || self == .sign || self == .square }
}

/// An elementwise function of two operands, broadcast NumPy-style.
public enum BinaryOp: String, Hashable, Sendable, CaseIterable {
    case add, sub, mul, div, pow, maximum, minimum

    /// Whether the op also accepts `int32` operands (`div` and `pow` need `float32`).
    public var acceptsInt32: Bool { self != .div && self != .pow }
}

/// An elementwise comparison of two operands, broadcast NumPy-style, giving `bool`.
public enum ComparisonOp: String, Hashable, Sendable, CaseIterable {
    case equal, notEqual, less, lessEqual, greater, greaterEqual
}

/// A reduction over a set of axes.
public enum ReduceOp: String, Hashable, Sendable, CaseIterable {
    case sum, mean, max, min
}

/// The operation a graph node performs. Attributes that fix the result's shape are part of
/// the op, so a node's type follows from its op and the types of its inputs alone.
public enum Op: Hashable, Sendable {
    // MARK: Leaves
    /// A value fed at run time under `name`.
    case placeholder(name: String, type: TensorType)
    /// A persistent value, updated by ``Op/assign``; its initial value lives in the graph.
    case variable(name: String, type: TensorType)
    /// A value fixed when the graph is built.
    case constant(Tensor)
    /// The number of elements of `shape` as an `f32` scalar; depends on the batch size at run time.
    case elementCount(Shape)

    // MARK: Elementwise
    /// `f(x)` for each element.
    case unary(UnaryOp)
    /// `f(a, b)` for each element, broadcasting.
    case binary(BinaryOp)
    /// `a <op> b` for each element, broadcasting, giving `bool`.
    case compare(ComparisonOp)
    /// `condition ? a : b` for each element, broadcasting all three.
    case select
    /// Conversion to another element type.
    case cast(DType)

    // MARK: Reductions
    /// A reduction over `axes` (sorted, unique, non-negative).
    case reduce(ReduceOp, axes: [Int], keepDims: Bool)
    /// The index of the largest element along `axis` (the first one on ties), as `int32`.
    case argmax(axis: Int, keepDims: Bool)
    /// The gradient of a maximum or minimum over `axes` (a max pooling's): inputs `x`, the
    /// extremum `y` and its gradient `dy` (both of `x`'s shape with the reduced axes of length
    /// 1) and optionally a `bool` mask `keep` of `x`'s shape. Each element of `x` equal to its
    /// group's extremum (and kept) gets `dy / ties`, `ties` the number of elements of its group
    /// equal to the extremum; every other element gets 0. The same as
    /// `select(x == y [and keep], dy / sum(cast(x == y), axes), 0)`, in one pass.
    case extremumGradient(axes: [Int])

    // MARK: Layout
    /// The same elements in row-major order with another shape.
    case reshape(Shape)
    /// Axes reordered: result axis `i` is input axis `permutation[i]`.
    case transpose(permutation: [Int])
    /// NumPy broadcasting to a larger shape.
    case broadcast(Shape)
    /// A box of the input starting at `starts`, of the result's shape `sizes`.
    case slice(starts: [Int], sizes: Shape)
    /// The input with `low` zeros before and `high` zeros after it along each axis.
    case pad(low: [Int], high: [Int])
    /// The inputs joined along `axis`.
    case concatenate(axis: Int)

    // MARK: Windows (convolution and pooling)
    /// The windows of NHWC images as vectors: input `[n, h, w, c]`, result `[n, oh, ow, kh·kw·c]`,
    /// each window's cells in `(row, column, channel)` order, cells outside the image
    /// `padValue` (see ``PatchWindow``).
    case patches(PatchWindow, padValue: Float)
    /// The adjoint of ``Op/patches(_:padValue:)``: window vectors `[n, oh, ow, kh·kw·c]` summed
    /// back into images `[n, imageSize[0], imageSize[1], c]` (each cell gets the sum over every
    /// window holding it; cells of the padding are dropped).
    case foldPatches(PatchWindow, imageSize: [Int])

    // MARK: Indexing
    /// Slices of `params` along `axis` picked by `int32` indices (inputs: params, indices).
    case gather(axis: Int)
    /// Zeros of `shape` with `updates` added at `int32` indices along `axis` (inputs: updates, indices).
    case scatterAdd(axis: Int, shape: Shape)
    /// `int32` indices as `f32` one-hot vectors of length `depth`, on a new last axis.
    case oneHot(depth: Int)

    // MARK: Linear algebra and normalisation
    /// Matrix product over the last two axes, broadcasting the leading ones.
    case matmul(transposeA: Bool, transposeB: Bool)
    /// `exp(x) / sum(exp(x))` along `axis`, computed stably.
    case softmax(axis: Int)
    /// `x - log(sum(exp(x)))` along `axis`, computed stably.
    case logSoftmax(axis: Int)

    // MARK: Randomness
    /// Uniform numbers in `[0, 1)` of `shape`, a pure function of an `int32` scalar seed (the
    /// input) and each element's row-major position, computed identically by every backend
    /// (see ``Reference/uniform(seed:index:)``).
    case randomUniform(Shape)

    // MARK: Loops
    /// A loop over steps (see ``Scan``): operands are the carries' initial values, the
    /// sequences and the invariants. Its results are read by ``Op/scanResult(index:type:)``
    /// nodes; the scan node's own value is an empty `f32[]`.
    case scan(Scan)
    /// Result `index` of the scan node that is the operand (final carries, stacked per-step
    /// outputs, stacked carries: see ``Scan``), of that result's `type`.
    case scanResult(index: Int, type: TensorType)

    // MARK: Gradients and state
    /// The input unchanged, with no gradient flowing back through it.
    case stopGradient
    /// Writes a value into a variable at the end of the run (inputs: variable, value); gives the value.
    case assign
}

/// The windows of a 2-D convolution or pooling over NHWC images: `size` cells per window
/// (`[kh, kw]`), `dilation` apart within a window, windows `stride` apart, over the image padded
/// with `padLow` rows and columns before it (`[top, left]`) and `padHigh` after it
/// (`[bottom, right]`). A `[h, w]` image gives `oh = (h + top + bottom - dh·(kh - 1) - 1) / sh + 1`
/// rows of windows, and the same for columns.
public struct PatchWindow: Hashable, Sendable {
    /// `[kh, kw]`, each at least 1.
    public var size: [Int]
    /// `[sh, sw]`, each at least 1.
    public var stride: [Int]
    /// `[dh, dw]`, each at least 1.
    public var dilation: [Int]
    /// `[top, left]`, each at least 0.
    public var padLow: [Int]
    /// `[bottom, right]`, each at least 0.
    public var padHigh: [Int]

    /// Windows of `size`, `stride` and `dilation` (default 1) over the image padded by
    /// `padLow` and `padHigh` (default none).
    public init(size: [Int], stride: [Int] = [1, 1], dilation: [Int] = [1, 1], padLow: [Int] = [0, 0],
                padHigh: [Int] = [0, 0]) {
        self.size = size
        self.stride = stride
        self.dilation = dilation
        self.padLow = padLow
        self.padHigh = padHigh
    }

    /// The span of one window along axis `axis` (0 rows, 1 columns): `dilation·(size - 1) + 1`.
    public func span(_ axis: Int) -> Int { dilation[axis] * (size[axis] - 1) + 1 }

    /// The number of windows along axis `axis` of an image `length` cells long, or a value
    /// below 1 when the window does not fit the padded image.
    public func count(_ axis: Int, length: Int) -> Int {
        let padded = length + padLow[axis] + padHigh[axis]
        return padded < span(axis) ? 0 : (padded - span(axis)) / stride[axis] + 1
    }

    /// The image row (axis 0) or column (axis 1) of cell `k` of window `o` along that axis:
    /// below 0 or past the image for a cell of the padding.
    public func position(_ axis: Int, window o: Int, cell k: Int) -> Int {
        o * stride[axis] - padLow[axis] + k * dilation[axis]
    }

    /// The cells of one window: `kh·kw`.
    public var cells: Int { size[0] * size[1] }
}
