"""The stacked LSTM/GRU model: build, compile and load, its fused layers, CPU shards."""
