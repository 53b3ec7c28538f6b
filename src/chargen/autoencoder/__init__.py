"""The character seq2seq autoencoder: words in, thought vectors, words out, on the same core."""
