// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Kiln",
    products: [
        // MARK: Libraries
        .library(name: "Kiln", targets: ["Kiln"]),
        .library(name: "KilnGraph", targets: ["KilnGraph"]),
        .library(name: "KilnInterpreter", targets: ["KilnInterpreter"]),
    ],
    targets: [
        // MARK: Core modules (Kiln → KilnInterpreter → KilnGraph)
        .target(name: "KilnGraph"),
        .target(name: "KilnInterpreter", dependencies: ["KilnGraph"]),
        .target(name: "Kiln", dependencies: ["KilnGraph", "KilnInterpreter"]),

        // MARK: Examples
        .executableTarget(name: "ProductLiked", dependencies: ["Kiln"], path: "Examples/ProductLiked"),

        // MARK: Tests
        .testTarget(name: "KilnGraphTests", dependencies: ["KilnGraph"]),
        .testTarget(name: "KilnInterpreterTests", dependencies: ["KilnInterpreter"]),
        .testTarget(name: "KilnTests", dependencies: ["Kiln"]),
    ],
    swiftLanguageModes: [.v6]
)
