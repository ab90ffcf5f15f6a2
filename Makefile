# Kiln: two commands from a fresh clone.
#   make demo   trains the seed article's product example and prints its progress
#   make test   runs the whole test suite
# Both install missing system packages first (tools/bootstrap).

export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift

.PHONY: bootstrap demo test build clean

bootstrap:
	@tools/bootstrap

demo: bootstrap
	$(SWIFT) run ProductLiked

test: bootstrap
	$(SWIFT) test --no-parallel

build: bootstrap
	$(SWIFT) build

clean:
	rm -rf .build
