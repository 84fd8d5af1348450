def main(argv=None):
    raise SystemExit("sk-eglpp: not implemented yet")
