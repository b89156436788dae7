import Link from "next/link";

export const metadata = { title: "sessionkit on Next.js" };

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>
        <nav>
          <Link href="/">Home</Link> · <Link href="/about">About</Link> ·{" "}
          <Link href="/news">News</Link> · <Link href="/account">Account</Link>
        </nav>
        <main>{children}</main>
      </body>
    </html>
  );
}
