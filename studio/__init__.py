"""What the web app computes, kept out of the UI so it is tested without a browser.

    settings     the app's limits and knobs, read from GPT_APP_* environment variables once
    resources    what every session shares, built once from the settings (device, zoo, line)
    zoo          the checkpoints offered, loaded on first use
    generation   prompt and settings checks, streamed generation with every step's distribution
    training     live training for one browser session, within the limits
    live         a live training as the page sees it: waiting, then status, curve, samples, log
    worker       that training run in a worker process, mirrored back into the session's model
    slots        live trainings take turns; the waiting are told their place and the wait
    decoding     one batched decoder per shipped GPT, stepping every stream together
    timeline     the Timeline tab: a run scrubbed snapshot by snapshot
    lab          the Lab tab's views
    lab_opening  the defaults the Lab's instruments open on (the prompt, the copying GPT)
    hub          pushing a session's model to the student's own Hub account
    views        the figures and notes of the Generate, Attention and Loss tabs
    learn        the Learn tab: the ladder, the lecture's worked examples, makemore
    warmup       what the first visitors would wait for, done in the background at launch
    errors, inputs, threads, sessions, shutdown: refusals in words, API values checked,
                 blocking work awaited, idle sessions forgotten, SIGTERM ending streams

Nothing here imports Gradio (tests/test_layout.py checks); the page is `ui/`, one module per tab.
"""
