"""The app's event handlers, one class per concern (runs, results, your voice, the control
panel), each given the shared ui.context.AppContext; ui.app.App composes them."""
