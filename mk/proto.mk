# make proto: regenerate pyprof/_proto/profile_pb2.py from proto/profile.proto.
# Needs protoc 3.21 (Debian: apt-get install protobuf-compiler); its output
# imports with every protobuf runtime pyproject.toml allows (4.21 to 6.x).
# tests/unit/test_proto_current.py fails when the checked-in module is stale.

PROTOC ?= protoc

.PHONY: proto
proto:  ## regenerate pyprof/_proto/profile_pb2.py from proto/profile.proto
	@command -v $(PROTOC) >/dev/null || { echo "make proto: $(PROTOC) not found; install protobuf-compiler" >&2; exit 1; }
	$(PROTOC) --proto_path=proto --python_out=pyprof/_proto proto/profile.proto
