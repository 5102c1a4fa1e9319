"""Pure loss functions, one module per objective, named and signed as in TF-GAN."""
