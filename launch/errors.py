"""The one error type the launcher raises for problems a user can fix."""


class LaunchError(Exception):
    """A problem with the recipe, the environment or the inputs, phrased as what to do about it."""
