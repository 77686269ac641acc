"""The template context shared by the task page and the revise page: players, the question, the answer fields.

Built from screen sides only, so what reaches a template can't name a clip or a method.
The task kind says which template draws its clips and answer fields.
"""

from __future__ import annotations

from annotations.coach.instructions import render_instructions
from annotations.coach.judging import Answer
from annotations.coach.kinds import kind_of
from annotations.coach.screen import players_for
from annotations.models import Judgement
from studies.models import Assignment


def screen_context(assignment: Assignment, answer: Answer | Judgement | None = None) -> dict:
    """Everything the players and the answer form need for ``assignment``."""
    study, item = assignment.study, assignment.item
    query = item.query
    kind = kind_of(item)
    return {
        "study": study,
        "item_kind": item.kind,
        "kind_template": kind.template,
        "token": assignment.token,
        "players": players_for(assignment, narrations=study.show_narrations),
        "mistake": query.mistake,
        "sport": query.sport.name,
        "skill": query.skill,
        "question": kind.question(study),
        "options": kind.options(study),
        "answer": answer,
        # The answer's score as the options name it (text), to mark the chosen point.
        "answer_value": "" if answer is None or answer.score is None else str(answer.score),
        "instructions": render_instructions(study.instructions),
    }
