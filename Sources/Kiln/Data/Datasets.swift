import Foundation
import KilnGraph

/// Data sets Kiln reads from the system, as Keras' `keras.datasets`.
public enum Datasets {
    /// Where Debian's `dataset-fashion-mnist` package puts Fashion-MNIST.
    public static let fashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"

    /// The ten classes of Fashion-MNIST, by label.
    public static let fashionMNISTClasses = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                             "Sneaker", "Bag", "Ankle boot"]

    /// Fashion-MNIST (Zalando Research, MIT licence): 60,000 training and 10,000 test images
    /// of clothing, 28×28 grey pixels from 0 to 255, labelled 0 to 9 (see
    /// ``fashionMNISTClasses``), read from the IDX files in `directory`. As Keras'
    /// `fashion_mnist.load_data()`: `x` is `[count, 28, 28]`, `y` is `[count]`.
    ///
    /// - Throws: ``KilnError`` naming the Debian package when the files are absent, or the
    ///   file and offset when one is damaged or images and labels disagree.
    public static func fashionMNIST(directory: String = fashionMNISTDirectory) throws
        -> (train: (x: Tensor, y: Tensor), test: (x: Tensor, y: Tensor)) {
        func file(_ name: String) throws -> String {
            for candidate in [name + ".gz", name] where FileManager.default.fileExists(atPath: directory + "/" + candidate) {
                return directory + "/" + candidate
            }
            throw KilnError(.file, "Fashion-MNIST is not in \(directory) (no \(name).gz): install Debian's "
                            + "dataset-fashion-mnist package (tools/bootstrap does: sudo apt-get install dataset-fashion-mnist)")
        }
        func split(_ prefix: String) throws -> (x: Tensor, y: Tensor) {
            let imagesPath = try file("\(prefix)-images-idx3-ubyte"), labelsPath = try file("\(prefix)-labels-idx1-ubyte")
            let x = try IDX.read(contentsOf: imagesPath), y = try IDX.read(contentsOf: labelsPath)
            guard x.shape.count == 3, y.shape.count == 1, x.shape[0] == y.shape[0] else {
                throw KilnError(.file, "\(imagesPath) holds images \(x.shape) and \(labelsPath) labels \(y.shape): "
                                + "expected [count, height, width] and [count] with the same count")
            }
            if let bad = y.scalars.firstIndex(where: { $0 < 0 || $0 > 9 }) {
                throw KilnError(.file, "\(labelsPath): label \(y.scalars[bad]) of sample \(bad) is not 0 to 9")
            }
            return (x, y)
        }
        return (try split("train"), try split("t10k"))
    }
}
