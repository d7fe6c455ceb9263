"""Provider adapters. Each turns a wire protocol into the chunks of ``base``."""
