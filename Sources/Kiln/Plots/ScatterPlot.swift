import KilnGraph

/// Draws 2-D points coloured by integer label as an SVG file: a 2-D embedding (an
/// autoencoder's code, a projection) with one colour and legend entry per class.
///
/// - Parameters:
///   - points: `[n, 2]`.
///   - labels: `n` class labels (colours repeat after 10 classes); `nil` draws one colour.
/// - Throws: ``KilnError`` if the shapes disagree or the file cannot be written.
public func scatterPlot(_ points: Tensor, labels: [Int]? = nil, to path: String, title: String = "Embedding",
                        xLabel: String = "x", yLabel: String = "y") throws {
    guard points.shape.count == 2, points.shape[1] == 2, points.shape[0] > 0 else {
        throw KilnError(.shapeMismatch, "scatterPlot needs [n, 2] points, got shape \(points.shape)")
    }
    let count = points.shape[0]
    if let labels, labels.count != count {
        throw KilnError(.shapeMismatch, "scatterPlot got \(count) points but \(labels.count) labels")
    }
    let values = points.scalars.map(Double.init)
    let xs = stride(from: 0, to: values.count, by: 2).map { values[$0] }
    let ys = stride(from: 1, to: values.count, by: 2).map { values[$0] }
    let panel = SVGPanel(left: 70, top: 50, width: 520, height: 440, xs: xs, ys: ys)
    var body = panel.axes(title: title, xLabel: xLabel, yLabel: yLabel)
    for index in 0..<count {
        let color = SVGPanel.palette[(labels?[index] ?? 0) % SVGPanel.palette.count]
        body += "<circle cx=\"\(Int(panel.px(xs[index])))\" cy=\"\(Int(panel.py(ys[index])))\" r=\"2.5\" "
            + "fill=\"\(color)\" fill-opacity=\"0.7\"/>\n"
    }
    let classes = Set(labels ?? []).sorted()
    let legend = SVGPanel(left: panel.left + 150, top: panel.top, width: panel.width, height: 0, xs: [0], ys: [0])
    for (row, label) in classes.enumerated() {
        body += legend.legend(String(label), color: SVGPanel.palette[label % SVGPanel.palette.count], row: row, dot: true)
    }
    try SVGPanel.write(SVGPanel.document(width: 760, height: 550, body), to: path)
}
