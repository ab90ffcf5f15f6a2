import Foundation
import KilnGraph

/// A grid of small grey images with a caption under each, as an SVG file: the way to look at
/// an image model's test predictions (`true: Coat / predicted: Shirt`, wrong ones framed in red).
public enum ImageGrid {
    /// Writes the first images of `images` (`[count, height, width]` or `[count, height,
    /// width, 1]`, values from 0 (black) to `maximum` (white)) in rows of `columns`, each
    /// captioned; an image whose `marked` entry is true gets a red frame and red caption.
    ///
    /// - Throws: ``KilnError`` if `images` is not a batch of grey images, the captions or
    ///   marks are fewer than the images shown, or the file cannot be written (an existing
    ///   file is replaced only by a complete new one).
    public static func write(_ images: Tensor, captions: [String], marked: [Bool] = [], maximum: Float = 1,
                             columns: Int = 8, count: Int = 32, to path: String) throws {
        let shape = images.shape
        guard shape.count == 3 || (shape.count == 4 && shape[3] == 1), shape[1] > 0, shape[2] > 0 else {
            throw KilnError(.shapeMismatch, "ImageGrid: expected grey images [count, height, width(, 1)], got \(shape)")
        }
        let shown = Swift.min(count, shape[0])
        guard captions.count >= shown, marked.isEmpty || marked.count >= shown, columns > 0, maximum > 0 else {
            throw KilnError(.invalidArgument, "ImageGrid: \(shown) images need as many captions (got \(captions.count)) "
                            + "and marks (got \(marked.count)), a positive column count and maximum")
        }
        let (height, width) = (shape[1], shape[2])
        let scale = Swift.max(1, 84 / Swift.max(height, width))
        let cellWidth = Swift.max(width * scale, 90) + 12, cellHeight = height * scale + 40
        let rows = (shown + columns - 1) / columns
        let pixels = images.scalars
        var body = ""
        for index in 0..<shown {
            let x0 = (index % columns) * cellWidth + 6, y0 = (index / columns) * cellHeight + 6
            let wrong = !marked.isEmpty && marked[index]
            body += "<g transform=\"translate(\(x0),\(y0))\">\n"
            body += "<rect width=\"\(width * scale)\" height=\"\(height * scale)\" fill=\"black\""
                + (wrong ? " stroke=\"#d62728\" stroke-width=\"3\"" : "") + "/>\n"
            // Runs of equal grey (16 levels) in each row, one rectangle per run.
            for row in 0..<height {
                var column = 0
                while column < width {
                    let level = grey(pixels[(index * height + row) * width + column], maximum)
                    var end = column + 1
                    while end < width && grey(pixels[(index * height + row) * width + end], maximum) == level { end += 1 }
                    if level > 0 {
                        let value = level * 17
                        body += "<rect x=\"\(column * scale)\" y=\"\(row * scale)\" width=\"\((end - column) * scale)\" "
                            + "height=\"\(scale)\" fill=\"rgb(\(value),\(value),\(value))\"/>\n"
                    }
                    column = end
                }
            }
            for (line, text) in captions[index].split(separator: "\n", omittingEmptySubsequences: false).prefix(2).enumerated() {
                body += "<text x=\"0\" y=\"\(height * scale + 14 + 13 * line)\" font-family=\"sans-serif\" font-size=\"11\""
                    + (wrong ? " fill=\"#d62728\"" : "") + ">\(SVGPanel.escape(String(text)))</text>\n"
            }
            body += "</g>\n"
        }
        let svg = SVGPanel.document(width: Double(columns * cellWidth + 12), height: Double(rows * cellHeight + 12), body)
        try SVGPanel.write(svg, to: path)
    }

    /// The grey level 0 to 15 of a value from 0 to `maximum`.
    private static func grey(_ value: Float, _ maximum: Float) -> Int {
        guard value.isFinite else { return 0 }
        return Swift.min(15, Swift.max(0, Int((value / maximum * 15).rounded())))
    }
}
