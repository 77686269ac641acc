"""Coach-facing pages, one module per page group: studies (home, instructions, done), the task page,
its clips, and the coach's history of answers."""
