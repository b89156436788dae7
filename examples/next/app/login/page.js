// A plain HTML form to the sign-in route handler (app/api/login/route.js), which sets the
// cookie and answers 303 to the page asked for.
export default async function Login({ searchParams }) {
  const { next, failed } = await searchParams;
  return (
    <>
      <h1 id="login">Sign in</h1>
      {failed ? <p id="failed">Wrong username or password.</p> : null}
      <form method="post" action="/api/login">
        <input type="hidden" name="next" value={typeof next === "string" ? next : "/account"} />
        <label>
          Username <input id="username" name="username" autoComplete="username" />
        </label>
        <label>
          Password{" "}
          <input id="password" name="password" type="password" autoComplete="current-password" />
        </label>
        <button id="sign-in" type="submit">
          Sign in
        </button>
      </form>
    </>
  );
}
