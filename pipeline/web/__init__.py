"""The clerks' console: pages over round/ and outputs/, in a browser (`intake web`)."""
