"""The call-home benchmark through the production server and wrk: `make bench-server`."""
