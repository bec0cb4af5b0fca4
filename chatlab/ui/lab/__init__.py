"""The lab window: its layout, toolbar, actions, sidebar, lanes, prompt area and vote bar."""
