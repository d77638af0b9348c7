"""Where status records are kept between runs: the disk store and the Redis store."""
