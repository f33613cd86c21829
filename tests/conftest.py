from hypothesis import settings

settings.register_profile("default", max_examples=40, deadline=None, derandomize=True)  # CI: same examples every run
settings.load_profile("default")
