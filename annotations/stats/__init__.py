"""Agreement and ranking statistics: pure functions over arrays, no Django import."""
