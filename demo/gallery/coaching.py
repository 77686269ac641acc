"""What the demo's coaches say and what its learners ask, per skill and per fault.

``overview`` narrates a plain demonstration. For each fault, ``teach`` narrates
a correct repetition with the key body part marked, ``fix`` narrates a clip that
shows the mistake and then the correction, and ``mistake`` is how a learner
describes the problem in a query. The words for one fault share little
vocabulary across the three, as real narrations and queries do, so text
retrieval has to work for its matches.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FaultCoaching:
    teach: str
    fix: str
    mistake: str


@dataclass(frozen=True)
class SkillCoaching:
    overview: str
    faults: dict[str, FaultCoaching]


COACHING: dict[str, SkillCoaching] = {
    "basketball-jump-shot": SkillCoaching(
        overview=(
            "Start with your feet shoulder-width apart and the ball in your shooting pocket. "
            "Dip, rise, and release the ball at the top of your jump. "
            "Hold your follow-through until the ball reaches the rim."
        ),
        faults={
            "flat_footed": FaultCoaching(
                teach=(
                    "Your power comes from your legs, not your arms. "
                    "Bend your knees as you catch, then drive straight up through the floor. "
                    "The ball should leave your hand just as you reach the top of your jump."
                ),
                fix=(
                    "Here is a shot with straight legs: all the force comes from the arms, so the ball falls short. "
                    "Now watch the legs load and extend. "
                    "Sink into a quarter squat and let your legs carry the ball up to the set point."
                ),
                mistake="My jump shot keeps falling short and it feels like I'm throwing it with just my arms.",
            ),
            "chest_push": FaultCoaching(
                teach=(
                    "Bring the ball up to a set point just above your forehead, with your elbow under the ball. "
                    "From there the arm extends up and out, which gives the shot a high arc. "
                    "A high release is also much harder to block."
                ),
                fix=(
                    "A common mistake is pushing the ball from the chest with both hands, "
                    "which gives a flat shot that clanks off the front of the rim. "
                    "Lift the ball above your eyes first. "
                    "Keep the guide hand on the side and let the shooting hand finish the shot."
                ),
                mistake="I push the ball from my chest and my shot is really flat.",
            ),
            "no_follow_through": FaultCoaching(
                teach=(
                    "Snap your wrist and hold your follow-through, fingers pointing at the rim. "
                    "Think of reaching into a cookie jar on a high shelf. "
                    "Holding the finish keeps the ball on line and gives it backspin."
                ),
                fix=(
                    "This player yanks the arm down the moment the ball leaves the hand, and the shot comes up short. "
                    "Keep the arm up, elbow above the eyebrow, until the ball hits the net. "
                    "Freeze the finish on every shot in practice."
                ),
                mistake="I drop my shooting arm as soon as I let go of the ball.",
            ),
        },
    ),
    "tennis-serve": SkillCoaching(
        overview=(
            "Start side-on to the net with your weight on the back foot. "
            "Toss, load into the trophy position, then drive up and hit the ball at full reach. "
            "Let the racket follow through across your body."
        ),
        faults={
            "low_toss": FaultCoaching(
                teach=(
                    "Toss the ball a little higher than you can reach with the racket fully extended. "
                    "Contact should happen with a straight arm, at the highest point you can reach. "
                    "A consistent toss is the foundation of a consistent serve."
                ),
                fix=(
                    "When the toss is too low, the ball drops onto you and you have to hit it with a cramped, "
                    "bent elbow. Release the ball at eye level with a straight tossing arm and let it rise above "
                    "your reach. Then extend fully and meet it as it starts to fall."
                ),
                mistake="My toss is too low, so I end up hitting my serve with a bent elbow.",
            ),
            "no_leg_drive": FaultCoaching(
                teach=(
                    "Bend your knees as you reach the trophy position, then push up off the ground into the ball. "
                    "The legs start the kinetic chain and the racket is the last link. "
                    "You should land inside the court."
                ),
                fix=(
                    "Serving with straight legs means all the pace has to come from the arm, "
                    "and the ball ends up in the net. Load both knees while the ball is going up. "
                    "Explode upward so that your whole body, not just your arm, rises to the contact."
                ),
                mistake="I don't bend my knees when I serve and the ball keeps going into the net.",
            ),
            "toss_behind": FaultCoaching(
                teach=(
                    "Place the toss slightly in front of you and toward the net, "
                    "so that your body moves forward into the court. "
                    "Your head stays up, watching the contact point. If the toss drifts, catch it and start again."
                ),
                fix=(
                    "Tossing behind your head forces you to arch your back and hit the ball late, often long. "
                    "Keep the toss in front of your hitting shoulder. "
                    "You should be able to fall forward into the court as you strike it."
                ),
                mistake="My toss drifts behind my head and I have to arch my back to reach it.",
            ),
        },
    ),
    "golf-full-swing": SkillCoaching(
        overview=(
            "Set up with a slight bend from the hips and a soft flex in the knees. "
            "Turn back to the top, then swing through the ball to a balanced finish facing the target. "
            "Keep the tempo smooth from start to finish."
        ),
        faults={
            "early_extension": FaultCoaching(
                teach=(
                    "Keep your spine angle and knee flex from address all the way through impact. "
                    "Your head stays at the same height while the body turns around it. "
                    "Stand up only after the ball is gone, in the finish."
                ),
                fix=(
                    "Here the golfer stands up in the downswing: the hips thrust at the ball, the head rises and "
                    "the club catches the ball thin or tops it. Feel your backside stay against a wall behind you. "
                    "Stay in your posture until the ball is gone."
                ),
                mistake="I stand up through impact and keep topping the ball along the ground.",
            ),
            "bent_lead_arm": FaultCoaching(
                teach=(
                    "At the top of the swing your lead arm should be straight but not locked. "
                    "That keeps a wide arc and the same radius back to the ball. "
                    "Width on the way back means speed on the way down."
                ),
                fix=(
                    "When the lead elbow folds at the top, the arc narrows and the club can go anywhere on the "
                    "way down. Turn your shoulders instead of lifting with your arms. "
                    "Stop the backswing where the lead arm starts to bend."
                ),
                mistake="My left arm collapses at the top of my backswing.",
            ),
            "sway": FaultCoaching(
                teach=(
                    "Turn your hips and shoulders around a steady centre instead of sliding. "
                    "Feel the weight move into the inside of your trail foot, not outside it. "
                    "Your head should stay roughly over the ball."
                ),
                fix=(
                    "This golfer's hips slide away from the target in the backswing, so the low point of the swing "
                    "moves behind the ball and the shot comes out fat. Keep your trail knee flexed and turn against "
                    "it. Imagine standing in a barrel: rotate, don't sway."
                ),
                mistake="My hips slide away from the target on the backswing and I hit the ground before the ball.",
            ),
        },
    ),
    "football-penalty-kick": SkillCoaching(
        overview=(
            "Pick your corner before you start your run-up and don't change your mind. "
            "Approach at a slight angle, plant your standing foot beside the ball and strike through its middle. "
            "Follow through toward your target."
        ),
        faults={
            "leaning_back": FaultCoaching(
                teach=(
                    "Keep your chest and knee over the ball when you strike it. "
                    "Staying forward keeps the shot low and driven. "
                    "Your standing leg takes your weight, not your back."
                ),
                fix=(
                    "Leaning back at contact gets your foot under the ball, and it sails over the bar. "
                    "Watch how the shoulders stay over the ball in the correct version. "
                    "Think nose over the ball as you strike."
                ),
                mistake="When I take penalties I lean back and the ball flies over the crossbar.",
            ),
            "plant_far": FaultCoaching(
                teach=(
                    "Plant your standing foot next to the ball, about a hand's width to the side, "
                    "toes pointing at the target. That puts your hips and kicking leg in the right place "
                    "to strike cleanly. Shorten your final stride if you keep landing short."
                ),
                fix=(
                    "When the plant foot lands too far behind the ball, you have to stretch for it and the strike "
                    "loses power and accuracy. Adjust your run-up so the last step lands level with the ball. "
                    "Then the kicking foot meets the ball right under your body."
                ),
                mistake="My standing foot lands way behind the ball, so I have to stretch to reach it.",
            ),
            "no_follow_through": FaultCoaching(
                teach=(
                    "Kick through the ball, not at it. "
                    "Let your kicking leg carry on toward the target and land on it after the strike. "
                    "A full follow-through adds pace and keeps the direction true."
                ),
                fix=(
                    "Stopping the leg at the ball takes the pace off the shot, and the keeper has time to react. "
                    "Keep swinging the leg toward the corner you picked. "
                    "Land on your kicking foot and step forward after the ball."
                ),
                mistake="I stop my leg when I hit the ball, so my penalties are weak and easy to save.",
            ),
        },
    ),
}
