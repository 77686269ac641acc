"""Study design, coach profiles, items and the assignment engine."""
