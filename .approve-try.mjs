import { chromium } from 'playwright-core';
const [link, user, password, action = 'approve'] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
const page = await browser.newPage();
const seen = [];
page.on('framenavigated', (f) => { if (f === page.mainFrame()) seen.push(new URL(f.url()).pathname); });
await page.goto(link);
await page.screenshot({ path: '/tmp/ghtry/1.png' });
console.log('1', (await page.locator('h1').first().textContent()));
if (action === 'deny') {
  await page.getByRole('button', { name: /cancel|deny|abort/i }).first().click();
} else {
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
await page.waitForLoadState('networkidle');
await page.screenshot({ path: '/tmp/ghtry/2.png' });
console.log('2', (await page.locator('h1').first().textContent()), seen.join(' → '));
await browser.close();
