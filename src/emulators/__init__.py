"""Wire-faithful local emulators of the vendor APIs dealbooks talks to."""
